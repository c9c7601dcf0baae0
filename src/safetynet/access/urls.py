from django.urls import path

from safetynet.access import views

app_name = "access"
urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("audit/", views.audit, name="audit"),
    path("users/", views.users, name="users"),
    path("password/", views.PasswordChangeView.as_view(), name="password"),
    path("2fa/", views.second_factor, name="second_factor"),
]
