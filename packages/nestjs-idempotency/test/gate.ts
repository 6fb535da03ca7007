/** A promise and the function that settles it: a step a test lets happen when it chooses. */
export function gate(): { opened: Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

/** A run held by a test: `started` resolves once the run has begun, `release` lets it go on. */
export interface Hold {
  started: Promise<void>;
  release: () => void;
}

/** Work a test holds: `run` says it started, then waits to be released before it returns `value`. */
export function heldWork<T>(value: T): Hold & { run: () => Promise<T> } {
  const started = gate();
  const release = gate();
  return {
    started: started.opened,
    release: release.open,
    run: async () => {
      started.open();
      await release.opened;
      return value;
    },
  };
}

/** Runs a test holds by key: the next run of a held key waits, once begun, until the test releases it. */
export class Holds {
  private readonly held = new Map<string, { started: ReturnType<typeof gate>; release: ReturnType<typeof gate> }>();
  private readonly releases: Array<() => void> = [];

  hold(key: string): Hold {
    const hold = { started: gate(), release: gate() };
    this.held.set(key, hold);
    this.releases.push(hold.release.open);
    return { started: hold.started.opened, release: hold.release.open };
  }

  /** Lets every held run go on: a test that failed while holding one must not keep its app from closing. */
  releaseAll(): void {
    for (const release of this.releases.splice(0)) release();
  }

  /** Where a run may be held: resolves at once for a key nobody holds. */
  async reached(key: string): Promise<void> {
    const hold = this.held.get(key);
    if (!hold) return;
    this.held.delete(key);
    hold.started.open();
    await hold.release.opened;
  }
}
