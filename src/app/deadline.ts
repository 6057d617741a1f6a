/** A bound on waiting: the work's answer, or an error once `ms` have passed (the work itself goes on). */
export function withDeadline<T>(
  work: Promise<T>,
  ms: number,
  message = `the database did not answer within ${ms} ms`,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}
