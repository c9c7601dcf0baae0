from django.urls import path

from safetynet.registry import views

app_name = "registry"
urlpatterns = [
    path("search/", views.search, name="search"),
    path("households/<str:household_id>/", views.household, name="household"),
    path("households/<str:household_id>/call/", views.call, name="call"),
]
