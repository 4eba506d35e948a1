import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { recordingFileSchema, recordingInfoSchema, requests, roomNameSchema } from '../../protocol/protocol.ts';
import { CONTENT_TYPES, listRecordingFiles, RECORDING_NAME } from '../recording/recordingFiles.ts';
import type { Recordings } from '../recording/Recordings.ts';
import { replyWithRefusal } from './refusals.ts';

const problemSchema = z.object({ error: z.string() });
const roomParams = z.object({ room: roomNameSchema });

/** REST callers act as the operator. */
const OPERATOR = 'the operator';

/**
 * Recording and live streaming over REST: start, stop, list what is under
 * way and what is on disk, download a file. Moderators only, once auth exists.
 */
export const recordingRoutes: FastifyPluginAsync<{ recordings: Recordings; dir: string }> = async (fastify, { recordings, dir }) => {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  app.setErrorHandler(replyWithRefusal);

  app.get(
    '/api/rooms/:room/recordings',
    {
      schema: {
        tags: ['recordings'],
        summary: "A room's recordings and live streams under way, and its finished files",
        params: roomParams,
        response: { 200: z.object({ current: z.array(recordingInfoSchema), files: z.array(recordingFileSchema) }) },
      },
    },
    async (request) => ({
      current: recordings.current(request.params.room),
      files: await listRecordingFiles(dir, request.params.room),
    }),
  );

  app.post(
    '/api/rooms/:room/recordings',
    {
      schema: {
        tags: ['recordings'],
        summary: 'Record the room to a file and/or stream it to RTMP(S) destinations',
        description: 'A recorder worker picks the job up; progress arrives as `recordingUpdated` in the room. 503 when Redis or every recorder is down.',
        params: roomParams,
        body: requests.startRecording.request,
        response: { 201: z.object({ recording: recordingInfoSchema }), 503: problemSchema },
      },
    },
    async (request, reply) => {
      const recording = await recordings.start(request.params.room, OPERATOR, request.body);
      return reply.code(201).send({ recording });
    },
  );

  app.delete(
    '/api/rooms/:room/recordings/:id',
    {
      schema: {
        tags: ['recordings'],
        summary: 'Stop a recording or live stream (the file is finished and kept)',
        params: roomParams.extend({ id: z.string().min(1).max(64) }),
        response: { 204: z.null(), 404: problemSchema, 503: problemSchema },
      },
    },
    async (request, reply) => {
      await recordings.stop(request.params.room, request.params.id);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/api/recordings/:room/:name',
    {
      schema: {
        tags: ['recordings'],
        summary: 'Download a finished recording',
        params: roomParams.extend({ name: z.string().regex(RECORDING_NAME, 'a recording file name such as 2026-11-21T10-00-00-000Z.mp4') }),
        produces: ['video/mp4', 'audio/mp4', 'audio/mpeg'],
        response: { 200: z.any().describe('the file'), 404: problemSchema },
      },
    },
    async (request, reply) => {
      const { room, name } = request.params;
      const file = path.join(dir, room, name);
      const stat = await fs.stat(file).catch(() => null);
      if (!stat?.isFile()) return reply.code(404).send({ error: `no recording ${name} in ${room}` });
      return reply
        .type(CONTENT_TYPES[path.extname(name).slice(1)]!)
        .header('content-length', stat.size)
        .header('content-disposition', `attachment; filename="${room}-${name}"`)
        .send(createReadStream(file));
    },
  );
};
