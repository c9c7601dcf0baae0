from django.urls import path

from safetynet.policies import views

app_name = "policies"
urlpatterns = [
    path("", views.index, name="index"),
    path("new/", views.edit, name="new"),
    path("<int:policy_id>/edit/", views.edit, name="edit"),
]
