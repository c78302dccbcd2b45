import type { ValidityWindow } from './schema.ts';
import { localTime } from './time-zone.ts';

function minutesOf(time: string): number {
  const [h, m] = time.split(':');
  return Number(h) * 60 + Number(m);
}

/**
 * Whether `at` falls in any window. A window whose end is before its start runs past midnight: its late part
 * belongs to the day it started on (Friday 22:00–02:00 includes Saturday 01:00).
 */
export function withinWindows(windows: ValidityWindow[], timeZone: string, at: Date): boolean {
  const { weekday, minutes } = localTime(at, timeZone);
  const previousDay = weekday === 1 ? 7 : weekday - 1;
  return windows.some((w) => {
    const start = w.start_time ? minutesOf(w.start_time) : 0;
    const end = w.end_time ? minutesOf(w.end_time) : 24 * 60;
    const onDay = (day: number) => !w.days_of_week || w.days_of_week.includes(day);
    if (start < end) return onDay(weekday) && minutes >= start && minutes < end;
    return (onDay(weekday) && minutes >= start) || (onDay(previousDay) && minutes < end);
  });
}
