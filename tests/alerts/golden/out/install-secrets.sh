#!/bin/sh
# Writes the secret files alertmanager.yml reads, from environment variables; generated
# by `msatrace alerts`. Each file is written without a trailing newline (printf '%s'):
# with one, Alertmanager 0.25 sends an invalid Opsgenie Authorization header. 0.25 has
# no url_file for webhooks, so $WEBHOOK_URL replaces the placeholder in the config.
# Run: SECRETS_DIR=... sh install-secrets.sh [path/to/alertmanager.yml]
set -eu
DIR="${SECRETS_DIR:-/etc/alertmanager/secrets}"
CONFIG="${1:-$(dirname "$0")/alertmanager.yml}"
umask 077
mkdir -p "$DIR"
printf '%s' "${SLACK_PAGE_WEBHOOK_URL:?set SLACK_PAGE_WEBHOOK_URL}" > "$DIR/slack-page-api-url"
printf '%s' "${SLACK_TICKET_WEBHOOK_URL:?set SLACK_TICKET_WEBHOOK_URL}" > "$DIR/slack-ticket-api-url"
printf '%s' "${PAGERDUTY_ROUTING_KEY:?set PAGERDUTY_ROUTING_KEY}" > "$DIR/pagerduty-routing-key"
printf '%s' "${OPSGENIE_API_KEY:?set OPSGENIE_API_KEY}" > "$DIR/opsgenie-api-key"
if grep -q "https://webhook.invalid/MSATRACE_WEBHOOK_URL" "$CONFIG"; then
  : "${WEBHOOK_URL:?set WEBHOOK_URL: the config still has the webhook placeholder}"
  awk -v ph='https://webhook.invalid/MSATRACE_WEBHOOK_URL' 'BEGIN { url = ENVIRON["WEBHOOK_URL"] }
    { out = ""; rest = $0
      while ((i = index(rest, ph)) > 0) {
        out = out substr(rest, 1, i - 1) url; rest = substr(rest, i + length(ph))
      }
      print out rest }' "$CONFIG" > "$CONFIG.tmp"
  mv "$CONFIG.tmp" "$CONFIG"
fi
