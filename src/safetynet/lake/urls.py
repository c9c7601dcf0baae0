from django.urls import path

from safetynet.lake import views

app_name = "lake"
urlpatterns = [
    path("", views.index, name="index"),
    path("batches/<int:batch_id>/", views.batch, name="batch"),
    path("batches/<int:batch_id>/quarantine.xlsx", views.quarantine_download, name="quarantine_download"),
]
