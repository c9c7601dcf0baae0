from django.urls import path

from safetynet.cases import views

app_name = "cases"
urlpatterns = [
    path("", views.index, name="index"),
    path("export.xlsx", views.export, name="export"),
    path("inbox/", views.inbox, name="inbox"),
    path("referrals/", views.referrals, name="referrals"),
    path("settings/", views.settings_page, name="settings"),
    path("<int:case_id>/", views.case, name="case"),
    path("<int:case_id>/photos/<int:photo_id>/", views.photo, name="photo"),
    path("<int:case_id>/letter/", views.letter, name="letter"),
]
