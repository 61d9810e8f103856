from django.urls import path

from . import views

app_name = "disputes"

urlpatterns = [
    path("orders/lines/<int:line_pk>/dispute/", views.dispute_open, name="dispute_open"),
    path("disputes/", views.dispute_list, name="dispute_list"),
    path("disputes/<int:pk>/", views.dispute_detail, name="dispute_detail"),
    path("disputes/<int:pk>/withdraw/", views.dispute_withdraw, name="dispute_withdraw"),
    path("disputes/<int:pk>/reopen/", views.dispute_reopen, name="dispute_reopen"),
    path("disputes/<int:pk>/messages/", views.dispute_message, name="dispute_message"),
    path("disputes/<int:pk>/files/<int:attachment_pk>/", views.attachment, name="attachment"),
]
