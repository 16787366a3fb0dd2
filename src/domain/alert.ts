/**
 * Alerting's shapes (issue #16), shared by the API (targets), the core worker's workflows and
 * activities (events and delivery) and the channels (src/alerts): what a target's channels
 * hold and what an alert says. Pure types and constants.
 */

/** The channels a target may have, at most one of each. */
export const ALERT_CHANNELS = ['email', 'webhook', 'slack', 'lark', 'dingtalk', 'wecom'] as const;
export type AlertChannel = (typeof ALERT_CHANNELS)[number];

/**
 * One channel of a target as delivery needs it, secrets included. Reads never return a
 * secret: they say only whether one is set.
 */
export type ChannelConfig =
  | { channel: 'email'; address: string }
  /** A generic HTTPS endpoint; every POST is signed with HMAC-SHA256 over timestamp and body. */
  | { channel: 'webhook'; url: string; secret: string }
  | { channel: 'slack'; url: string }
  /** Lark/Feishu custom bot; with a secret, its signature check is on. */
  | { channel: 'lark'; url: string; secret?: string }
  /** DingTalk custom robot; with a secret ("SEC…"), its signed-request mode. */
  | { channel: 'dingtalk'; url: string; secret?: string }
  | { channel: 'wecom'; url: string };

/** The events that raise alerts. */
export const ALERT_EVENTS = ['INSTANCE_FAILED', 'WF_INSTANCE_FAILED', 'MISFIRE_SKIPPED', 'BROADCAST_SHARE_LOST', 'FAILURE_THRESHOLD'] as const;
export type AlertEvent = (typeof ALERT_EVENTS)[number];

/** What happened, as every channel renders it. */
export interface Alert {
  /** Deterministic: the same event always has the same id (e.g. `INSTANCE_FAILED:<instanceId>`). */
  id: string;
  event: AlertEvent;
  appId: number;
  appName: string;
  jobId: number | null;
  jobName: string | null;
  instanceId: number | null;
  workflowId: number | null;
  wfInstanceId: number | null;
  /** PowerJob's status name of the instance or workflow instance (FAILED, …), or null. */
  status: string | null;
  /** The instance's result, or what the event says (the misfire, the lost worker). */
  result: string | null;
  /** Epoch ms, when known. */
  expectedTriggerTime: number | null;
  actualTriggerTime: number | null;
  finishedTime: number | null;
  /** When the event happened (epoch ms). */
  time: number;
  /** One line, the alert's subject. */
  title: string;
  /** Where to look: the API's read of the instance, and Temporal's Web UI. */
  links: { api: string | null; webUi: string | null };
}

/** SMTP for the email channel (one per deployment): `TEMPOJOB_SMTP_URL`, `TEMPOJOB_ALERT_FROM`. */
export interface SmtpSettings {
  /** smtp://user:pass@host:port or smtps://… */
  url: string;
  from: string;
}

export interface DeliveryContext {
  /** Absent: email targets fail with a PermanentDeliveryError saying SMTP is not configured. */
  smtp?: SmtpSettings;
  /** Per request; default 10 s. */
  timeoutMs?: number;
}
