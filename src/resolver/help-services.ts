// Help and support services that no keyword rule, category list or deny
// exception may block: a pupil who looks for Childline or Samaritans must get
// there, even when a keyword such as "suicide" or "selfharm", or a list that
// files a charity under "self-harm", would stop the name. Only the illegal
// lists (IWF, CTIRU) still apply. Policy position: after the illegal check and
// before everything else (policy.ts, step 2).
//
// The list is data shipped with the code and reviewed with it. The services
// are the UK ones that schools, the NHS ("help for suicidal thoughts"), the UK
// Safer Internet Centre and KCSIE point children and staff to; each entry is
// the domain the service publishes for its own website, chat or reporting
// form (from the services' own pages and helpline materials). When a service
// moves, change it here; a reviewer checks each domain against the service's
// own site. An entry covers the domain and its subdomains, exactly as
// written: no look-alike folding (a look-alike of a help service is another
// site). Schools add their own (a local CAMHS, the council's youth service)
// with `helpServices.extra`, and drop a built-in entry whose domain no longer
// belongs to the service with `helpServices.exclude`.
import { normaliseDomain } from '../lists/names.js';
import { SuffixMap } from './suffix-map.js';

export interface HelpService {
  domain: string;
  /** The service, and what it helps with. */
  service: string;
}

export const BUILT_IN_HELP_SERVICES: readonly HelpService[] = [
  // Children and young people: confidential help by phone, chat and e-mail.
  { domain: 'childline.org.uk', service: 'Childline (NSPCC): helpline for under-19s; hosts Report Remove with the IWF' },
  { domain: 'nspcc.org.uk', service: 'NSPCC: child protection helpline for adults worried about a child' },
  { domain: 'ceop.police.uk', service: 'CEOP (National Crime Agency): reporting online sexual abuse and grooming' },
  { domain: 'thinkuknow.co.uk', service: "CEOP Education's Thinkuknow: online safety for children and parents" },
  { domain: 'iwf.org.uk', service: 'Internet Watch Foundation: reporting child sexual abuse images; Report Remove with Childline' },
  { domain: 'kooth.com', service: 'Kooth: online counselling for young people' },
  { domain: 'youngminds.org.uk', service: 'YoungMinds: young people’s mental health' },
  { domain: 'themix.org.uk', service: 'The Mix: support for under-25s' },
  { domain: 'annafreud.org', service: 'Anna Freud: children’s mental health (On My Mind)' },
  { domain: 'stem4.org.uk', service: 'stem4: teenage mental health' },
  { domain: 'kidscape.org.uk', service: 'Kidscape: bullying' },
  { domain: 'anti-bullyingalliance.org.uk', service: 'Anti-Bullying Alliance' },
  { domain: 'ditchthelabel.org', service: 'Ditch the Label: bullying' },
  { domain: 'runawayhelpline.org.uk', service: 'Runaway Helpline (Missing People)' },
  { domain: 'missingpeople.org.uk', service: 'Missing People' },
  { domain: 'brook.org.uk', service: 'Brook: sexual health and wellbeing for under-25s' },
  // Suicide, self-harm and crisis.
  { domain: 'samaritans.org', service: 'Samaritans: 116 123, any time' },
  { domain: 'papyrus-uk.org', service: 'PAPYRUS: HOPELINE247, suicide prevention for under-35s' },
  { domain: 'giveusashout.org', service: 'Shout: crisis text line (85258)' },
  { domain: 'thecalmzone.net', service: 'CALM: Campaign Against Living Miserably' },
  { domain: 'selfharm.co.uk', service: 'selfharmUK: support for young people who self-harm' },
  { domain: 'harmless.org.uk', service: 'Harmless: self-harm and suicide prevention' },
  { domain: 'mind.org.uk', service: 'Mind: mental health' },
  { domain: 'sane.org.uk', service: 'SANE: mental health helpline' },
  { domain: 'hubofhope.co.uk', service: 'Hub of Hope: directory of local mental health support' },
  { domain: 'nhs.uk', service: 'NHS: 111, urgent mental health helplines' },
  // Eating disorders, drugs, alcohol, gambling.
  { domain: 'beateatingdisorders.org.uk', service: 'Beat: eating disorders' },
  { domain: 'talktofrank.com', service: 'Talk to FRANK: drugs advice' },
  { domain: 'wearewithyou.org.uk', service: 'We Are With You: drugs and alcohol support' },
  { domain: 'gamcare.org.uk', service: 'GamCare: gambling harm helpline' },
  { domain: 'begambleaware.org', service: 'BeGambleAware: gambling harm' },
  // Abuse, sexual violence and exploitation.
  { domain: 'stopitnow.org.uk', service: 'Stop It Now (Lucy Faithfull Foundation): preventing child sexual abuse' },
  { domain: 'lucyfaithfull.org.uk', service: 'Lucy Faithfull Foundation' },
  { domain: 'rapecrisis.org.uk', service: 'Rape Crisis England & Wales' },
  { domain: 'thesurvivorstrust.org', service: 'The Survivors Trust' },
  { domain: 'napac.org.uk', service: 'NAPAC: adult survivors of childhood abuse' },
  { domain: 'nationaldahelpline.org.uk', service: 'National Domestic Abuse Helpline (Refuge)' },
  { domain: 'refuge.org.uk', service: 'Refuge: domestic abuse' },
  { domain: 'victimsupport.org.uk', service: 'Victim Support' },
  { domain: 'crimestoppers-uk.org', service: 'Crimestoppers and Fearless: anonymous reporting' },
  { domain: 'fearless.org', service: 'Fearless (Crimestoppers): anonymous reporting for young people' },
  // Online safety reporting and advice.
  { domain: 'reportharmfulcontent.com', service: 'Report Harmful Content (UK Safer Internet Centre)' },
  { domain: 'saferinternet.org.uk', service: 'UK Safer Internet Centre' },
  { domain: 'internetmatters.org', service: 'Internet Matters: online safety advice' },
  // Identity, bereavement, homelessness, carers.
  { domain: 'switchboard.lgbt', service: 'Switchboard: LGBTQ+ helpline' },
  { domain: 'cruse.org.uk', service: 'Cruse Bereavement Support' },
  { domain: 'shelter.org.uk', service: 'Shelter: housing and homelessness' },
  { domain: 'centrepoint.org.uk', service: 'Centrepoint: youth homelessness' },
  { domain: 'barnardos.org.uk', service: 'Barnardo’s' },
  { domain: 'childrenssociety.org.uk', service: 'The Children’s Society' },
  { domain: 'actionforchildren.org.uk', service: 'Action for Children' },
];

/** The help-services config: domains a school adds, and built-in domains it takes out. */
export interface HelpServicesConfig {
  extra: readonly string[];
  exclude: readonly string[];
}

/** The domains in effect, in the form names are matched in: the built-in list without `exclude`, plus `extra`. */
export function helpServiceDomains(config: HelpServicesConfig): string[] {
  const excluded = new Set(config.exclude.map(normaliseDomain));
  const domains = BUILT_IN_HELP_SERVICES.map((s) => s.domain).filter((d) => !excluded.has(d));
  for (const d of config.extra.map(normaliseDomain)) if (d !== null && !domains.includes(d)) domains.push(d);
  return domains;
}

/** The flag help domains carry in the policy's per-group name maps (beside EXCEPTION_DENY and EXCEPTION_ALLOW). */
export const HELP_SERVICE = 4;

/** The domains as one suffix map, for a check off the query path (the admin UI's). */
export class HelpServices {
  private readonly map = new SuffixMap();

  constructor(config: HelpServicesConfig) {
    for (const d of helpServiceDomains(config)) this.map.add(d, 1);
  }

  get size(): number {
    return this.map.size;
  }

  /** Whether the name is a help service or one of its subdomains. */
  covers(name: string): boolean {
    return this.map.lookup(name) !== 0;
  }
}
