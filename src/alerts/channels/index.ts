// Build the configured channels by name.
import type { AlertsConfig, ChannelName } from '../config.js';
import type { Channel } from '../types.js';
import { EmailChannel } from './email.js';
import { SyslogChannel } from './syslog.js';
import { WebhookChannel } from './webhook.js';

export function buildChannels(config: AlertsConfig): Map<ChannelName, Channel> {
  const channels = new Map<ChannelName, Channel>();
  const { email, webhook, syslog } = config.channels;
  if (email) channels.set('email', new EmailChannel(email));
  if (webhook) channels.set('webhook', new WebhookChannel(webhook));
  if (syslog) channels.set('syslog', new SyslogChannel(syslog));
  return channels;
}
