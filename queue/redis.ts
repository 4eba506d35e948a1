// Small pieces both sides of the queue share.

/** Where a job's stop request is kept (the worker polls it). */
export function stopKey(jobId: string): string {
  return `recordings:stop:${jobId}`;
}

/** A Redis URL for messages: host and port, never the password. */
export function describeRedis(url: string): string {
  const parsed = URL.canParse(url) ? new URL(url) : null;
  return parsed ? `${parsed.hostname}:${parsed.port || 6379}` : '(invalid REDIS_URL)';
}

export function withTimeout<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}
