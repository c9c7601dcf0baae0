from django.urls import path

from safetynet.campaigns import views

app_name = "campaigns"
urlpatterns = [
    path("", views.index, name="index"),
    path("new/", views.new, name="new"),
    path("<int:campaign_id>/", views.campaign, name="campaign"),
    path("<int:campaign_id>/tasks/", views.tasks, name="tasks"),
]
