import fs from 'node:fs';

const TICKS_PER_SECOND = 100; // getconf CLK_TCK on Linux

/** Fields of /proc/<pid>/stat after the parenthesised command name (index 0 is the state, field 3). */
function statFields(pid: number): string[] {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** CPU seconds (user + system) a process has used so far, from /proc. */
export function cpuSeconds(pid: number): number {
  const fields = statFields(pid); // utime and stime are the 14th and 15th fields overall
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/** CPU seconds used by a process's children that have exited and been waited for (cutime + cstime). */
export function exitedChildrenCpuSeconds(pid: number): number {
  const fields = statFields(pid);
  return (Number(fields[13]) + Number(fields[14])) / TICKS_PER_SECOND;
}

/** Busy and total CPU seconds of the whole machine, summed over its cores. */
export function machineCpuSeconds(): { busy: number; total: number } {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = line.trim().split(/\s+/).slice(1).map(Number);
  const busy = user + nice + system + irq + softirq + steal;
  return { busy: busy / TICKS_PER_SECOND, total: (busy + idle + iowait) / TICKS_PER_SECOND };
}

/** Direct children of a process. */
export function childPids(pid: number): number[] {
  const pids: number[] = [];
  for (const task of fs.readdirSync(`/proc/${pid}/task`)) {
    const children = fs.readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
    if (children) pids.push(...children.split(' ').map(Number));
  }
  return pids;
}

export function commandOf(pid: number): string {
  return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
}

/** The parent of a process (field 4 of /proc/<pid>/stat). */
export function parentPid(pid: number): number {
  return Number(statFields(pid)[1]);
}

/** A process and all its descendants (those still alive). */
export function descendantPids(pid: number): number[] {
  const all: number[] = [];
  const queue = [pid];
  while (queue.length) {
    const next = queue.shift()!;
    all.push(next);
    try {
      queue.push(...childPids(next));
    } catch {
      // exited meanwhile
    }
  }
  return all;
}

/** Every process on the machine. */
export function allPids(): number[] {
  return fs.readdirSync('/proc').filter((name) => /^\d+$/.test(name)).map(Number);
}
