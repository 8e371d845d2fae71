/**
 * `onramp rules preview --fail-if '<threshold>'`: a threshold on the comparison of the candidate
 * rules with the rules in force, so that CI can refuse a rules change that sends or escalates far
 * more (or less) than today. The grammar, whitespace between the parts optional:
 *
 *   threshold := metric operator value
 *   metric    := sends | escalations | escalated-developers | frequency-cap | quiet-hours | holdout | changed-developers
 *   operator  := > | >= | < | <=
 *   value     := number            the candidate's figure          (`changed-developers > 100`)
 *              | (+|-) number      its change from the rules in force (`escalations > +5`)
 *              | (+|-) number %    its relative change               (`sends > +20%`, `sends < -50%`)
 */

export const FAIL_IF_METRICS = ['sends', 'escalations', 'escalated-developers', 'frequency-cap', 'quiet-hours', 'holdout', 'changed-developers'] as const;
export type FailIfMetric = (typeof FAIL_IF_METRICS)[number];

const OPERATORS = ['>=', '<=', '>', '<'] as const;
type Operator = (typeof OPERATORS)[number];

export interface FailIfThreshold {
  /** As written, for messages. */
  text: string;
  metric: FailIfMetric;
  operator: Operator;
  /** `absolute`: the candidate's figure; `change`: candidate − in force; `percent`: that change in % of the figure in force. */
  kind: 'absolute' | 'change' | 'percent';
  value: number;
}

/** A figure in both runs. */
export interface ComparedFigure {
  baseline: number;
  candidate: number;
}

export class FailIfSyntaxError extends Error {}

const THRESHOLD = /^\s*([a-z-]+)\s*(>=|<=|>|<)\s*([+-])?(\d+(?:\.\d+)?)\s*(%)?\s*$/;

/** Parses one threshold; a FailIfSyntaxError names what is wrong with it. */
export function parseFailIf(text: string): FailIfThreshold {
  const quoted = `--fail-if '${text}'`;
  const metricName = /^\s*([a-z-]*)/i.exec(text)?.[1] ?? '';
  if (!FAIL_IF_METRICS.includes(metricName as FailIfMetric))
    throw new FailIfSyntaxError(`${quoted}: ${metricName ? `unknown figure "${metricName}"` : 'no figure'}; one of ${FAIL_IF_METRICS.join(', ')}`);
  const rest = text.trimStart().slice(metricName.length).trimStart();
  const operator = OPERATORS.find((op) => rest.startsWith(op));
  if (!operator) throw new FailIfSyntaxError(`${quoted}: expected an operator (${OPERATORS.join(', ')}) after "${metricName}"`);
  const match = THRESHOLD.exec(text);
  if (!match) throw new FailIfSyntaxError(`${quoted}: expected a number after "${operator}": 100 (the figure), +5 or -5 (its change), +20% or -20% (its relative change)`);
  const [, , , sign, digits, percent] = match;
  if (percent && !sign) throw new FailIfSyntaxError(`${quoted}: a percentage is a change from the rules in force: write +${digits}% or -${digits}%`);
  const magnitude = Number(digits);
  return {
    text: text.trim(),
    metric: metricName as FailIfMetric,
    operator,
    kind: percent ? 'percent' : sign ? 'change' : 'absolute',
    value: sign === '-' ? -magnitude : magnitude,
  };
}

/** What a threshold looks at: the candidate's figure, its change, or its change in % (±Infinity from 0). */
export function measured(threshold: FailIfThreshold, figure: ComparedFigure): number {
  const change = figure.candidate - figure.baseline;
  if (threshold.kind === 'absolute') return figure.candidate;
  if (threshold.kind === 'change') return change;
  if (figure.baseline === 0) return change === 0 ? 0 : change > 0 ? Infinity : -Infinity;
  return (change * 100) / figure.baseline;
}

export function holds(threshold: FailIfThreshold, figure: ComparedFigure): boolean {
  const x = measured(threshold, figure);
  switch (threshold.operator) {
    case '>':
      return x > threshold.value;
    case '>=':
      return x >= threshold.value;
    case '<':
      return x < threshold.value;
    case '<=':
      return x <= threshold.value;
  }
}

export interface FailIfVerdict {
  threshold: FailIfThreshold;
  figure: ComparedFigure;
  tripped: boolean;
  /** `sends: 120 → 150 (+30, +25.0%)`. */
  detail: string;
}

/** Each threshold against the figures of the comparison. */
export function evaluateFailIf(thresholds: FailIfThreshold[], figures: Record<FailIfMetric, ComparedFigure>): FailIfVerdict[] {
  return thresholds.map((threshold) => {
    const figure = figures[threshold.metric];
    return { threshold, figure, tripped: holds(threshold, figure), detail: `${threshold.metric}: ${describeChange(figure)}` };
  });
}

/** `120 → 150 (+30, +25.0%)`; from 0, no percentage; `4 → 4 (no change)`. */
export function describeChange({ baseline, candidate }: ComparedFigure): string {
  const change = candidate - baseline;
  if (change === 0) return `${baseline} → ${candidate} (no change)`;
  const signed = (n: number, digits = 0) => `${n < 0 ? '-' : '+'}${Math.abs(n).toFixed(digits)}`;
  const percent = baseline === 0 ? '' : `, ${signed((change * 100) / baseline, 1)}%`;
  return `${baseline} → ${candidate} (${signed(change)}${percent})`;
}
