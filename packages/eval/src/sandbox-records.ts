// The launcher's records on the program's stdout: `<tag> <text>\n`, where the tag is 32 hex digits drawn for
// the run. RecordScanner takes them out of the stream (wherever they fall between chunks) and passes the
// program's own output through.

/** Longest record body the launcher writes, plus slack; a tag followed by more without a newline is output. */
const MAX_RECORD_BYTES = 4096;

export class RecordScanner {
  /** Record texts in the order they came, unescaped. */
  readonly records: string[] = [];
  private readonly tag: Buffer;
  private pending: Buffer = Buffer.alloc(0);

  constructor(
    tag: string,
    private readonly output: (chunk: Buffer) => void,
  ) {
    this.tag = Buffer.from(`${tag} `, 'latin1');
  }

  push(chunk: Buffer): void {
    let data = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = Buffer.alloc(0);
    for (;;) {
      const at = data.indexOf(this.tag);
      if (at < 0) {
        // Keep a tail that could be the start of a tag cut by the chunk boundary.
        const keep = Math.min(data.length, this.tag.length - 1);
        this.emit(data.subarray(0, data.length - keep));
        this.pending = Buffer.from(data.subarray(data.length - keep));
        return;
      }
      this.emit(data.subarray(0, at));
      const end = data.indexOf(0x0a, at + this.tag.length);
      if (end < 0) {
        if (data.length - at <= MAX_RECORD_BYTES) {
          this.pending = Buffer.from(data.subarray(at));
          return;
        }
        // Not a record the launcher wrote (those are single writes that end in a newline).
        this.emit(data.subarray(at, at + this.tag.length));
        data = data.subarray(at + this.tag.length);
        continue;
      }
      this.records.push(unescapeRecord(data.subarray(at + this.tag.length, end).toString('utf8')));
      data = data.subarray(end + 1);
    }
  }

  /** Passes on what is left at the end of the stream. */
  end(): void {
    this.emit(this.pending);
    this.pending = Buffer.alloc(0);
  }

  private emit(b: Buffer): void {
    if (b.length > 0) this.output(b);
  }
}

function unescapeRecord(s: string): string {
  return s.replace(/\\(\\|n)/g, (_, c: string) => (c === 'n' ? '\n' : '\\'));
}
