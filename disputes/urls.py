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
    path("disputes/<int:pk>/slip/", views.return_slip, name="return_slip"),
    path("disputes/<int:pk>/do/<slug:action>/", views.dispute_action, name="dispute_action"),
    path("seller/", views.seller_desk, name="seller_desk"),
    path("seller/templates/", views.instruction_templates, name="instruction_templates"),
    path("seller/templates/<int:template_pk>/delete/", views.instruction_template_delete,
         name="instruction_template_delete"),
]
