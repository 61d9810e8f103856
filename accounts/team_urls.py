from django.urls import path

from . import views

app_name = "team"

# A store's members and its invitations, in the seller pages (/seller/...). Accepting an
# invitation is an account page: accounts:invitation_accept.
urlpatterns = [
    path("seller/team/", views.team, name="index"),
    path("seller/team/invite/", views.team_invite, name="invite"),
    path("seller/team/invitations/<int:pk>/revoke/", views.team_invitation_revoke, name="revoke"),
]
