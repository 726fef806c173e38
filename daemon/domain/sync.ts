/** What the outbox sends to each sync target: pictures, films and the source's latest picture. */
export const OUTBOX_KINDS = ['picture', 'video', 'latest'] as const;
export type OutboxKind = (typeof OUTBOX_KINDS)[number];
