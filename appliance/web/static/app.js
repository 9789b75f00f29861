// Keryu admin page: live alarm updates (server-sent events) and confirmations. No build step.
"use strict";

(function () {
  function confirmForms() {
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.dataset.confirm)) event.preventDefault();
      });
    });
  }

  // Channel names come from the server's channel table (base.html puts them on <body>).
  function channelNames() {
    try {
      return JSON.parse(document.body.dataset.channelNames || "{}");
    } catch (error) {
      return {};
    }
  }

  var CHANNELS = {};

  var TIME_FORMAT = null;

  function shownTime(iso) {
    // Written as the server writes them: the page's language, the kiosk's zone (body data-locale, data-zone).
    if (!iso) return "";
    if (!TIME_FORMAT) {
      var body = document.body.dataset;
      TIME_FORMAT = new Intl.DateTimeFormat(body.locale, { dateStyle: "medium", timeStyle: "medium", timeZone: body.zone });
    }
    return TIME_FORMAT.format(new Date(iso));
  }

  function fill(root, alarm) {
    root.querySelectorAll("[data-field]").forEach(function (el) {
      var field = el.dataset.field;
      if (field === "notification_status") {
        el.textContent = alarm.notification_status;
        el.className = "badge " + alarm.notification_status.toLowerCase();
      } else if (field === "channel") {
        el.textContent = CHANNELS[alarm.channel] || "";
      } else if (field === "created_at" || field === "last_attempt") {
        el.textContent = shownTime(alarm[field]);
      } else if (field === "message_id") {
        el.textContent = alarm.whatsapp_message_id || alarm.message_sid || "";
      } else if (field === "subject_name") {
        el.textContent = alarm.subject_name;
        if (alarm.is_test) {
          var tag = document.createElement("span");
          tag.className = "tag";
          tag.textContent = document.body.dataset.testLabel;
          el.append(" ", tag);
        }
      } else if (field in alarm) {
        el.textContent = alarm[field] === null ? "" : String(alarm[field]);
      }
    });
  }

  function fillNote(root, note) {
    // One person's message on the alarm page: a custodian's row, or the on-duty contact's line.
    root.querySelectorAll("[data-note-field]").forEach(function (el) {
      var field = el.dataset.noteField;
      if (field === "status") {
        el.textContent = note.status;
        el.className = "badge " + note.status.toLowerCase();
      } else if (field === "channel") {
        el.textContent = CHANNELS[note.channel] || "";
      } else if (field === "message_id") {
        el.textContent = note.whatsapp_message_id || note.message_sid || "";
      } else if (field in note) {
        el.textContent = note[field] === null ? "" : String(note[field]);
      }
    });
  }

  function fillNotifications(alarm) {
    document.querySelectorAll('[data-notifications-of="' + alarm.id + '"] tr[data-notification]').forEach(function (row) {
      var note = (alarm.notifications || [])[Number(row.dataset.notification)];
      if (note) fillNote(row, note);
    });
    document.querySelectorAll('[data-escalation-of="' + alarm.id + '"]').forEach(function (line) {
      if (!alarm.escalation) return;
      fillNote(line, alarm.escalation);
      line.hidden = false;
    });
  }

  function addRow(table, alarm) {
    var filter = table.dataset.statusFilter;
    if (filter && filter !== alarm.notification_status) return;
    var template = document.getElementById("alarm-row");
    var tbody = table.querySelector("tbody");
    var row = template.content.firstElementChild.cloneNode(true);
    row.dataset.alarmId = String(alarm.id);
    var link = row.querySelector("a");
    link.href = "/alarms/" + alarm.id;
    link.textContent = String(alarm.id);
    fill(row, alarm);
    var empty = tbody.querySelector("tr.empty");
    if (empty) empty.remove();
    // Newest first: put it above the first row with a smaller id.
    var before = Array.prototype.find.call(tbody.rows, function (r) {
      return Number(r.dataset.alarmId) < alarm.id;
    });
    tbody.insertBefore(row, before || null);
    row.classList.add("fresh");
  }

  function onAlarm(alarm) {
    fillNotifications(alarm);
    var seen = false;
    document.querySelectorAll('[data-alarm-id="' + alarm.id + '"]').forEach(function (el) {
      seen = true;
      fill(el, alarm);
      el.classList.add("fresh");
    });
    if (!seen) {
      document.querySelectorAll("table[data-live-table]").forEach(function (table) {
        addRow(table, alarm);
      });
    }
  }

  function live() {
    if (!window.EventSource || !document.querySelector("[data-alarm-id], table[data-live-table]")) return;
    // What changed between drawing this page and subscribing is replayed first (since=).
    var since = document.body.dataset.drawnAt;
    var source = new EventSource(since ? "/events?since=" + encodeURIComponent(since) : "/events");
    source.addEventListener("alarm", function (event) {
      onAlarm(JSON.parse(event.data));
    });
    source.addEventListener("open", function () {
      document.body.classList.add("connected");
    });
    source.addEventListener("error", function () {
      document.body.classList.remove("connected");
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    CHANNELS = channelNames();
    confirmForms();
    live();
  });
})();
