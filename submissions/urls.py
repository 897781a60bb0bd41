from django.urls import path

from submissions import package_views, views

urlpatterns = [
    path("", views.home, name="home"),
    path("assignments/<int:pk>/", views.assignment_detail, name="assignment"),
    path("assignments/<int:pk>/submit/", views.submission_upload, name="submit"),
    path("assignments/<int:pk>/gradebook/", views.gradebook, name="gradebook"),
    path("assignments/<int:pk>/gradebook.csv", views.gradebook_csv, name="gradebook_csv"),
    path("assignments/<int:pk>/settings/", views.assignment_settings, name="assignment_settings"),
    path("assignments/<int:pk>/rerun/", views.rerun, name="rerun"),
    path("submissions/<int:pk>/", views.submission_detail, name="submission"),
    path("submissions/<int:pk>/status/", views.submission_status, name="submission_status"),
    path("submissions/<int:pk>/override/", views.submission_override, name="override"),
    path("submissions/<int:pk>/override/remove/", views.submission_override_remove, name="override_remove"),
    path("submissions/<int:pk>/rerun/", views.submission_rerun, name="submission_rerun"),
    path("courses/<int:pk>/packages/", package_views.course_packages, name="course_packages"),
    path("packages/<int:pk>/", package_views.package_version, name="package_version"),
    path("packages/<int:pk>/status/", package_views.package_version_status, name="package_version_status"),
    path("packages/<int:pk>/publish/", package_views.package_publish, name="package_publish"),
    path("packages/<int:pk>/preview/", package_views.package_preview_refresh, name="package_preview_refresh"),
    path("jobs/<int:pk>/", views.job_detail, name="job"),
    path("jobs/<int:pk>/status/", views.job_status, name="job_status"),
]
