// Build a report's data from the database and its input (the report thread
// calls this; tests and the command line may too).
import type { Database } from 'better-sqlite3';
import type { Report } from './model.js';
import type { ReportInput } from './input.js';
import { weeklyReport } from './gather/weekly.js';
import { boardReport } from './gather/board.js';
import { annualReport } from './gather/annual.js';

export function buildReport(db: Database, input: ReportInput): Report {
  switch (input.kind) {
    case 'weekly':
      return weeklyReport(db, input);
    case 'board':
      return boardReport(db, input);
    case 'annual':
      return annualReport(db, input);
  }
}
