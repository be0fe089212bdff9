/**
 * Marks on the live stream: every client gets a `mark` event as it happens, from a device's
 * thumb button (source `device`) or from a client's `mark` request (source `dashboard`: the
 * dashboard's space bar or big button), which is validated with its schema and answered
 * with a socket.io acknowledgement like `selectPreset`. The request passes the same gates
 * as every other (Host and Origin at the connection, the per-client rate limit, a viewer
 * refused when clients pair: server/security), so only an operator can make a mark.
 *
 *   const marks = new LiveMarks(io, () => pipelines);     // a PipelineListener: add it to fanOut
 *   requests.on('mark', (payload, reply) => marks.answer(payload, reply));   // live/requests.ts
 *
 * Pipeline position: beside the live broadcaster, on the same socket.io server.
 */
import type { Server } from 'socket.io';
import { clientEventSchemas, type ClientToServerEvents, type CommandReply, type MarkEvent, type ServerToClientEvents } from '../contract/live-events.ts';
import type { DevicePipeline, PipelineListener } from '../pipeline.ts';

type LiveServer = Server<ClientToServerEvents, ServerToClientEvents>;

export class LiveMarks implements PipelineListener {
  readonly #io: LiveServer;
  readonly #pipelines: () => readonly DevicePipeline[];

  constructor(io: LiveServer, pipelines: () => readonly DevicePipeline[]) {
    this.#io = io;
    this.#pipelines = pipelines;
  }

  onMark(mark: MarkEvent): void {
    this.#io.emit('mark', mark);
  }

  /** Answers a client's `mark` request: a mark on the device, sent to every client; nothing changes on a bad request. */
  answer(payload: unknown, reply: (answer: CommandReply) => void): void {
    const request = clientEventSchemas.mark.safeParse(payload);
    if (!request.success) {
      reply({ ok: false, error: `mark: ${request.error.issues.map((issue) => `${issue.path.join('.') || 'payload'}: ${issue.message}`).join('; ')}` });
      return;
    }
    const { deviceId } = request.data;
    const pipeline = this.#pipelines().find((candidate) => candidate.info?.deviceId === deviceId);
    if (pipeline === undefined) {
      reply({ ok: false, error: `mark: no device ${deviceId} on this server` });
      return;
    }
    try {
      pipeline.mark();
      reply({ ok: true });
    } catch (error) {
      reply({ ok: false, error: `mark: ${error instanceof Error ? error.message : String(error)}` });
    }
  }

  // The rest of the pipeline's news is the broadcaster's.
  onReadings(): void {}
  onEngineEvents(): void {}
  onStatus(): void {}
  onInfo(): void {}
  onSession(): void {}
}
