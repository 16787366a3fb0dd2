/**
 * The one entry point of alert channels (issue #16): sends one alert on one channel, each
 * channel in its own module under ./channels, all rendering the alert through the same
 * `renderAlert`. Resolves once the service accepted it; throws a PermanentDeliveryError when
 * sending again cannot help, any other Error when a retry may.
 */
import type { Alert, ChannelConfig, DeliveryContext } from '../domain/alert.js';
import { sendDingTalk } from './channels/dingtalk.js';
import { sendEmail } from './channels/email.js';
import { sendLark } from './channels/lark.js';
import { sendSlack } from './channels/slack.js';
import { sendWebhook } from './channels/webhook.js';
import { sendWeCom } from './channels/wecom.js';
import { PermanentDeliveryError, type DeliverAlert } from './types.js';

export { renderAlert } from './channels/render.js';

export const deliverAlert: DeliverAlert = async (config: ChannelConfig, alert: Alert, context: DeliveryContext): Promise<void> => {
  switch (config.channel) {
    case 'email':
      return sendEmail(config, alert, context);
    case 'webhook':
      return sendWebhook(config, alert, context);
    case 'slack':
      return sendSlack(config, alert, context);
    case 'lark':
      return sendLark(config, alert, context);
    case 'dingtalk':
      return sendDingTalk(config, alert, context);
    case 'wecom':
      return sendWeCom(config, alert, context);
    default: {
      // A target stored by a newer version, or corrupted: no retry will find a channel for it.
      const unknown: never = config;
      throw new PermanentDeliveryError(`unknown alert channel ${JSON.stringify((unknown as { channel?: unknown }).channel)}`);
    }
  }
};
