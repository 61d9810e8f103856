from django.urls import path

from . import views

app_name = "accounts"

# The portal's own account pages. Log in, log out, sign up, e-mail verification, password
# reset and change, e-mail change and single sign-on are django-allauth's, under the same
# /accounts/ prefix (returns_portal.urls), with their names (account_login, account_signup, ...).
urlpatterns = [
    path("language/", views.language_set, name="language_set"),
    path("profile/", views.profile, name="profile"),
    path("invitation/<str:token>/", views.invitation_accept, name="invitation_accept"),
]
