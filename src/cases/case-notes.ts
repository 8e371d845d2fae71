import { createHash, randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { PrismaClient } from '../generated/prisma/client.ts';

/**
 * Agents' notes live in PostgreSQL, not in the journey: the edge stores the text and the journey
 * (and so its Temporal history) carries only the note's id, which steps record as `noteId`. The
 * case log and its Slack thread show the text by joining on that id; a deleted developer's notes
 * are deleted, and the steps then show none.
 */

/** The longest note kept (the Slack modal's limit). */
export const NOTE_MAX_CHARS = 2000;

/** Stores a note before the journey takes it; the same request (case and request id) stores it once. */
export async function storeNote(prisma: PrismaClient, note: { caseId: string; developerId: string; author: string; text: string; requestId?: string }): Promise<string> {
  const id = note.requestId ? `note_${createHash('sha256').update(`${note.caseId}\n${note.requestId}`).digest('hex').slice(0, 32)}` : `note_${randomUUID()}`;
  await prisma.$executeRaw`INSERT INTO handoff_notes (id, handoff_id, developer_id, author, text) VALUES (${id}, ${note.caseId}, ${note.developerId}, ${note.author}, ${note.text.trim().slice(0, NOTE_MAX_CHARS)}) ON CONFLICT (id) DO NOTHING`;
  return id;
}

/** The texts of the notes the given step details refer to, by id. */
export async function noteTexts(db: PrismaClient | pg.Pool, details: readonly Record<string, unknown>[]): Promise<Map<string, string>> {
  const ids = details.map((d) => d.noteId).filter((id): id is string => typeof id === 'string');
  if (ids.length === 0) return new Map();
  const notes =
    'query' in db
      ? (await db.query<{ id: string; text: string }>('SELECT id, text FROM handoff_notes WHERE id = ANY($1::text[])', [ids])).rows
      : await db.handoffNote.findMany({ where: { id: { in: ids } }, select: { id: true, text: true } });
  return new Map(notes.map((n) => [n.id, n.text]));
}

/** A step's detail as people read it: `noteId` replaced by the text (`text` for a note, `note` on return/resolve), or by nothing once deleted. */
export function withNoteText(step: string, detail: Record<string, unknown>, texts: ReadonlyMap<string, string>): Record<string, unknown> {
  if (typeof detail.noteId !== 'string') return detail;
  const { noteId, ...rest } = detail;
  const text = texts.get(noteId);
  return text === undefined ? rest : { ...rest, [step === 'note' ? 'text' : 'note']: text };
}
