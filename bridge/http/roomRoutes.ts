import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { dialInSchema, peerInfoSchema, roomNameSchema } from '../protocol.ts';
import type { Room } from '../rooms/Room.ts';
import type { RoomRegistry } from '../rooms/RoomRegistry.ts';

const roomSchema = z.object({
  name: roomNameSchema,
  createdAt: z.number().int().describe('ms since the epoch'),
  worker: z.number().int().describe('index of the media worker hosting the room'),
  participants: z.array(peerInfoSchema),
  dialIn: dialInSchema,
});

const problemSchema = z.object({ error: z.string() });
const roomParams = z.object({ room: roomNameSchema });

/** REST for operators and integrations: list rooms, close a room, remove a participant, find a room by PIN. */
export const roomRoutes: FastifyPluginAsync<{ registry: RoomRegistry; dialInNumbers: readonly string[] }> = async (
  fastify,
  { registry, dialInNumbers },
) => {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const describeRoom = (room: Room): z.infer<typeof roomSchema> => ({
    name: room.name,
    createdAt: room.createdAt,
    worker: room.worker.index,
    participants: room.visiblePeers(),
    dialIn: { pin: room.pin, numbers: [...dialInNumbers] },
  });

  app.get(
    '/api/rooms',
    {
      schema: {
        tags: ['rooms'],
        summary: 'List live rooms with their participants',
        response: { 200: z.object({ rooms: z.array(roomSchema) }) },
      },
    },
    async () => ({ rooms: registry.list().map(describeRoom) }),
  );

  app.get(
    '/api/rooms/:room',
    {
      schema: {
        tags: ['rooms'],
        summary: 'One live room',
        params: roomParams,
        response: { 200: roomSchema, 404: problemSchema },
      },
    },
    async (request, reply) => {
      const room = registry.get(request.params.room);
      if (!room) return reply.code(404).send({ error: `no live room ${request.params.room}` });
      return describeRoom(room);
    },
  );

  app.delete(
    '/api/rooms/:room',
    {
      schema: {
        tags: ['rooms'],
        summary: 'Close a room, disconnecting everyone in it',
        params: roomParams,
        response: { 204: z.null(), 404: problemSchema },
      },
    },
    async (request, reply) => {
      const room = registry.get(request.params.room);
      if (!room) return reply.code(404).send({ error: `no live room ${request.params.room}` });
      room.close('roomClosed');
      return reply.code(204).send(null);
    },
  );

  app.delete(
    '/api/rooms/:room/participants/:peerId',
    {
      schema: {
        tags: ['rooms'],
        summary: 'Remove (kick) a participant',
        params: roomParams.extend({ peerId: z.string().min(1).max(64) }),
        response: { 204: z.null(), 404: problemSchema },
      },
    },
    async (request, reply) => {
      const room = registry.get(request.params.room);
      const peer = room?.getPeer(request.params.peerId);
      if (!room || !peer) return reply.code(404).send({ error: `no participant ${request.params.peerId} in ${request.params.room}` });
      room.kick(peer);
      return reply.code(204).send(null);
    },
  );

  // The SIP gateway's conference mapper (as Jigasi's): which room a caller's PIN opens.
  app.get(
    '/api/dial-in/:pin',
    {
      schema: {
        tags: ['dial-in'],
        summary: 'The live room a dial-in PIN opens',
        params: z.object({ pin: z.string().regex(/^[0-9]{1,16}$/, 'digits only') }),
        response: { 200: z.object({ room: roomNameSchema }), 404: problemSchema },
      },
    },
    async (request, reply) => {
      const room = registry.getByPin(request.params.pin);
      if (!room) return reply.code(404).send({ error: 'no live room has this PIN' });
      return { room: room.name };
    },
  );
};
