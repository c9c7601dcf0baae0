from django.urls import path

from safetynet.linkage import views

app_name = "linkage"
urlpatterns = [
    path("", views.lookup, name="lookup"),
    path("reviews/", views.reviews, name="reviews"),
    path("reviews/<int:review_id>/", views.review, name="review"),
    path("settings/", views.settings_page, name="settings"),
]
