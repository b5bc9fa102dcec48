// What happens to certificates over time: expiry alerts (issue 17). Rotation and the renewal
// window live beside the identity decision that applies them (identity/, management/).
// This file is the only door gateway/ and http/ may use (npm run lint enforces it).

export { EXPIRY_ALERT_INTERVAL_MS, ExpiryAlerts, type ExpiryAlertPass } from './expiry-alerts.js';
