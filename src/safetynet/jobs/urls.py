from django.urls import path

from safetynet.jobs import views

app_name = "jobs"
urlpatterns = [
    path("", views.index, name="index"),
    path("<int:job_id>/", views.job, name="job"),
    path("<int:job_id>/status/", views.status, name="status"),
    path("schedules/", views.schedules, name="schedules"),
    path("schedules/save/", views.schedule_save, name="schedule_save"),
]
