"""Every route of the admin page, API and webhooks, in one named table (see middlewares for who may call)."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from appliance.web.views import (
    alarms,
    api,
    auth,
    cards,
    custodians,
    finder,
    health,
    settings,
    subjects,
    tools,
    webhooks,
)

STATIC_DIR = Path(__file__).with_name("static")
UUID = r"{card_uuid:[0-9a-fA-F-]{36}}"

ROUTES = [
    # open: first run, login, health for monitors, provider callbacks
    web.get("/setup", auth.setup_page, name="setup"),
    web.post("/setup", auth.setup_submit, name="setup_submit"),
    web.get("/login", auth.login_page, name="login"),
    web.post("/login", auth.login_submit, name="login_submit"),
    web.get("/api/health", health.api_health, name="api_health"),
    web.post("/webhooks/twilio", webhooks.twilio, name="webhook_twilio"),
    web.get("/webhooks/whatsapp", webhooks.whatsapp_verify, name="webhook_whatsapp_verify"),
    web.post("/webhooks/whatsapp", webhooks.whatsapp, name="webhook_whatsapp"),
    # open: a finder's phone (the admin gets the card page at the same address)
    web.get(f"/scan/{UUID}", finder.scan_page, name="card"),
    web.post(f"/scan/{UUID}/alert", finder.alert_submit, name="card_alert"),
    # admin pages
    web.post("/logout", auth.logout, name="logout"),
    web.get("/", alarms.dashboard, name="dashboard"),
    web.get("/subjects", subjects.subjects_page, name="subjects"),
    web.get("/subjects/new", subjects.new_subject_page, name="subject_new"),
    web.post("/subjects", subjects.create_subject, name="subject_create"),
    web.get(r"/subjects/{subject_id:\d+}", subjects.subject_page, name="subject"),
    web.post(r"/subjects/{subject_id:\d+}", subjects.update_subject_submit, name="subject_update"),
    web.post(r"/subjects/{subject_id:\d+}/active", subjects.subject_active_submit, name="subject_active"),
    web.post(r"/subjects/{subject_id:\d+}/cards", subjects.issue_card_submit, name="card_issue"),
    web.post(r"/subjects/{subject_id:\d+}/custodians", custodians.add_custodian_submit, name="custodian_add"),
    web.post(r"/custodians/{custodian_id:\d+}/remove", custodians.remove_custodian_submit, name="custodian_remove"),
    web.get("/cards/sheet.pdf", cards.card_sheet, name="card_sheet"),
    web.get(f"/cards/{UUID}.png", cards.card_image, name="card_png"),
    web.post(f"/cards/{UUID}/active", cards.card_active_submit, name="card_active"),
    web.post(f"/scan/{UUID}", cards.simulate_scan, name="card_scan"),
    web.get("/alarms", alarms.alarms_page, name="alarms"),
    web.get(r"/alarms/{alarm_id:\d+}", alarms.alarm_page, name="alarm"),
    web.post(r"/alarms/{alarm_id:\d+}/retry", alarms.retry_submit, name="alarm_retry"),
    web.post(r"/alarms/{alarm_id:\d+}/resolve", alarms.resolve_submit, name="alarm_resolve"),
    web.get("/events", alarms.events, name="events"),
    web.get("/settings", settings.settings_page, name="settings"),
    web.post("/settings/channel", settings.channel_submit, name="settings_channel"),
    web.post("/settings/test-message", settings.test_message_submit, name="settings_test"),
    web.post("/settings/password", auth.password_submit, name="settings_password"),
    web.post("/settings/logout-everywhere", settings.logout_everywhere_submit, name="settings_logout_everywhere"),
    web.post("/settings/restore", settings.restore_upload_submit, name="settings_restore"),
    web.post("/settings/restore/confirm", settings.restore_confirm_submit, name="settings_restore_confirm"),
    web.post("/settings/update", settings.update_upload_submit, name="settings_update"),
    web.get("/health", health.health_page, name="health"),
    web.get("/metrics", health.metrics, name="metrics"),
    web.post("/backup", health.backup_download, name="backup"),
    web.get("/tools", tools.tools_page, name="tools"),
    web.post("/tools/selftest", tools.selftest_submit, name="tools_selftest"),
    web.get(r"/tools/snapshot/{request_id:[0-9a-f]{16}}.jpg", tools.snapshot, name="tools_snapshot"),
    web.get("/tools/preview", tools.preview_page, name="tools_preview"),
    web.get("/tools/preview.jpg", tools.preview_image, name="tools_preview_image"),
    web.post("/tools/logs", tools.logs_download, name="tools_logs"),
    web.post(r"/tools/power/{action:restart|reboot}", tools.power_submit, name="tools_power"),
    # JSON API
    web.get("/api/alarms", api.alarms, name="api_alarms"),
    web.get(r"/api/alarms/{alarm_id:\d+}", api.alarm, name="api_alarm"),
    web.post(r"/api/alarms/{alarm_id:\d+}/retry", api.alarm_retry, name="api_alarm_retry"),
    web.post(r"/api/alarms/{alarm_id:\d+}/resolve", api.alarm_resolve, name="api_alarm_resolve"),
    web.get("/api/subjects", api.subjects, name="api_subjects"),
    web.get("/api/phone-preview", api.phone_preview, name="api_phone_preview"),
    web.post("/api/scans", api.scans, name="api_scans"),
]


def setup_routes(app: web.Application) -> None:
    """Add the table, and static files with a version-busted long cache (see `static_url`)."""
    app.router.add_routes(ROUTES)
    app.router.add_static("/static/", STATIC_DIR, name="static", append_version=True)
