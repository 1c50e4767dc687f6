// What a device needs to use Gatehouse's encrypted DNS with its token: the
// DoH URL (Windows 11, browsers, Intune), the DoT host name (Android's
// Private DNS takes only a host name, and always connects to port 853), and
// an Apple configuration profile.
//
// The profile is a DNS Settings payload (com.apple.dnsSettings.managed,
// Apple's Device Management "DNSSettings": DNSProtocol HTTPS with ServerURL,
// or TLS with ServerName) inside a Configuration profile, as an XML property
// list (Apple's PropertyList-1.0 DTD). Installed by hand it applies on Wi-Fi
// and mobile data; pushed by an MDM, only on managed Wi-Fi networks (Apple's
// note on the payload). The profile holds the token, so it exists only at
// the moment the token is issued, like the token itself.
import { randomUUID } from 'node:crypto';
import type { DohConfig, TlsConfig } from '../resolver/encrypted-config.js';

export interface DeviceSetup {
  /** https://<hostname>[:port]/dns-query/<token>, when DoH is on. */
  dohUrl?: string;
  /** <token>.<hostname>, when DoT is on: Android's Private DNS "provider hostname". */
  dotName?: string;
}

export function deviceSetup(token: string, parts: { tls?: TlsConfig; doh?: DohConfig; dot?: unknown }): DeviceSetup {
  if (!parts.tls) return {};
  const host = parts.tls.hostname;
  const out: DeviceSetup = {};
  if (parts.doh) {
    // The port devices reach is usually 443 (a firewall may map another one to it); any other is written out.
    const port = Number(parts.doh.listen[0].slice(parts.doh.listen[0].lastIndexOf(':') + 1));
    out.dohUrl = `https://${host}${port === 443 || port === 0 ? '' : `:${port}`}/dns-query/${token}`;
  }
  if (parts.dot) out.dotName = `${token}.${host}`;
  return out;
}

const XML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };
const xml = (s: string) => s.replace(/[&<>"']/g, (c) => XML_ESCAPES[c]);

/** A reverse-DNS identifier part from the host name (profile identifiers must be unique per school). */
function reverse(hostname: string): string {
  return hostname.split('.').reverse().join('.');
}

/**
 * The Apple .mobileconfig for one device: DoH when there is a DoH URL, else
 * DoT. `deviceName` only labels the profile on the device.
 */
export function appleProfile(setup: DeviceSetup, hostname: string, deviceName: string): string {
  const settings = setup.dohUrl
    ? `<key>DNSProtocol</key><string>HTTPS</string><key>ServerURL</key><string>${xml(setup.dohUrl)}</string>`
    : setup.dotName
      ? `<key>DNSProtocol</key><string>TLS</string><key>ServerName</key><string>${xml(setup.dotName)}</string>`
      : undefined;
  if (!settings) throw new Error('appleProfile: neither DoH nor DoT is configured');
  const id = `${reverse(hostname)}.gatehouse`;
  const name = xml(`School DNS filter (${deviceName})`);
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
  <key>PayloadContent</key>
  <array>
    <dict>
      <key>DNSSettings</key>
      <dict>${settings}</dict>
      <key>PayloadDisplayName</key><string>${name}</string>
      <key>PayloadIdentifier</key><string>${xml(id)}.dns</string>
      <key>PayloadType</key><string>com.apple.dnsSettings.managed</string>
      <key>PayloadUUID</key><string>${randomUUID().toUpperCase()}</string>
      <key>PayloadVersion</key><integer>1</integer>
    </dict>
  </array>
  <key>PayloadDescription</key><string>Sends this device's DNS to the school's Gatehouse filter, in school and away.</string>
  <key>PayloadDisplayName</key><string>${name}</string>
  <key>PayloadIdentifier</key><string>${xml(id)}</string>
  <key>PayloadRemovalDisallowed</key><false/>
  <key>PayloadType</key><string>Configuration</string>
  <key>PayloadUUID</key><string>${randomUUID().toUpperCase()}</string>
  <key>PayloadVersion</key><integer>1</integer>
</dict>
</plist>
`;
}
