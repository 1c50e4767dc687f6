// The outcomes the DSL chooses from when closing a safeguarding alert (the
// inbox's list; the note adds the detail). Counted by the alert summary and
// the reports, which never read the note itself.
export const OUTCOMES = [
  'No further action needed',
  'Spoke with the pupil or member of staff',
  'Recorded in the safeguarding system',
  'Referred under safeguarding procedures',
  'Parents or carers contacted',
  'Reported to police or CEOP',
  'False positive: filtering to be reviewed',
  'Technical issue resolved',
] as const;
