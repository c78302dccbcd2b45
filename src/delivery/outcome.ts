/** How a provider refused a message: retry later, give up, or the address itself is bad (a bounce). */
export type FailureKind = 'temporary' | 'permanent' | 'bounced';

export class SendFailure extends Error {
  readonly kind: FailureKind;
  constructor(kind: FailureKind, message: string) {
    super(message);
    this.name = 'SendFailure';
    this.kind = kind;
  }
}
