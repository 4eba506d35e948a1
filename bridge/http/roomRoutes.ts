import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Inviter } from '../dialOut/DialOutAudit.ts';
import type { DialOuts } from '../dialOut/DialOuts.ts';
import { dialInSchema, dialOutCallSchema, peerInfoSchema, phoneNumberSchema, roomNameSchema } from '../../protocol/protocol.ts';
import { RequestError } from '../signaling/RequestError.ts';
import { replyWithRefusal } from './refusals.ts';
import type { Actor } from '../rooms/Audience.ts';
import type { Room } from '../rooms/Room.ts';
import type { RoomRegistry } from '../rooms/RoomRegistry.ts';

const roomSchema = z.object({
  name: roomNameSchema,
  createdAt: z.number().int().describe('ms since the epoch'),
  worker: z.number().int().describe('index of the media worker hosting the room'),
  participants: z.array(peerInfoSchema),
  dialIn: dialInSchema,
  locked: z.boolean(),
  lobby: z.boolean().describe('whether joins knock (a phone dialling the room by name is asked for the PIN first)'),
  dialOuts: z.array(dialOutCallSchema),
});

const problemSchema = z.object({ error: z.string() });
const roomParams = z.object({ room: roomNameSchema });
const participantParams = roomParams.extend({ peerId: z.string().min(1).max(64) });

/** REST callers act as the operator (one inviter for the dial-out caps). */
const OPERATOR: Actor & Inviter = { id: 'operator', displayName: 'the operator' };

/**
 * REST for operators and integrations: list rooms, close a room, mute or
 * remove a participant, invite a phone, find a room by PIN.
 */
export const roomRoutes: FastifyPluginAsync<{ registry: RoomRegistry; dialOuts: DialOuts; dialInNumbers: readonly string[] }> = async (
  fastify,
  { registry, dialOuts, dialInNumbers },
) => {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const describeRoom = (room: Room): z.infer<typeof roomSchema> => ({
    name: room.name,
    createdAt: room.createdAt,
    worker: room.worker.index,
    participants: room.visiblePeers(),
    dialIn: { pin: room.pin, numbers: [...dialInNumbers] },
    locked: room.moderation.locked,
    lobby: room.moderation.lobby.enabled,
    dialOuts: dialOuts.list(room),
  });
  const roomNamed = (name: string): Room => {
    const room = registry.get(name);
    if (!room) throw new RequestError('notFound', `no live room ${name}`);
    return room;
  };
  app.setErrorHandler(replyWithRefusal);

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
        params: participantParams,
        response: { 204: z.null(), 404: problemSchema },
      },
    },
    async (request, reply) => {
      roomNamed(request.params.room).moderation.remove(OPERATOR, request.params.peerId);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/api/rooms/:room/participants/:peerId/mute',
    {
      schema: {
        tags: ['rooms'],
        summary: "Mute a participant's microphone (only they can unmute)",
        params: participantParams,
        response: { 204: z.null(), 404: problemSchema },
      },
    },
    async (request, reply) => {
      await roomNamed(request.params.room).moderation.mute(OPERATOR, request.params.peerId);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/api/rooms/:room/dial-out',
    {
      schema: {
        tags: ['dial-out'],
        summary: 'Phone invitations of a room: those under way and the latest finished',
        params: roomParams,
        response: { 200: z.object({ calls: z.array(dialOutCallSchema) }), 404: problemSchema },
      },
    },
    async (request) => ({ calls: dialOuts.list(roomNamed(request.params.room)) }),
  );

  app.post(
    '/api/rooms/:room/dial-out',
    {
      schema: {
        tags: ['dial-out'],
        summary: 'Call a phone number into the room; follow its state in GET .../dial-out',
        description:
          'The number is read as E.164 (DIAL_OUT_DEFAULT_COUNTRY for national forms) and must pass the dial-out policy: ' +
          'DIAL_OUT_ALLOWED_PREFIXES, DIAL_OUT_DENIED_PREFIXES, the built-in deny list, no premium numbers, the caps and the daily minutes. ' +
          'A refusal (403) names the rule that stopped it.',
        params: roomParams,
        body: z.object({ number: phoneNumberSchema }),
        response: { 202: z.object({ call: dialOutCallSchema }), 403: problemSchema, 404: problemSchema, 409: problemSchema, 503: problemSchema },
      },
    },
    async (request, reply) => reply.code(202).send({ call: dialOuts.start(roomNamed(request.params.room), OPERATOR, request.body.number) }),
  );

  app.delete(
    '/api/rooms/:room/dial-out/:callId',
    {
      schema: {
        tags: ['dial-out'],
        summary: 'Stop ringing, or hang up an answered invitation',
        params: roomParams.extend({ callId: z.string().min(1).max(64) }),
        response: { 202: z.null(), 404: problemSchema },
      },
    },
    async (request, reply) => {
      dialOuts.cancel(roomNamed(request.params.room), request.params.callId);
      return reply.code(202).send(null);
    },
  );

  // The SIP gateway's conference mapper (as Jigasi's): which room a caller's PIN opens.
  app.get(
    '/api/dial-in/:pin',
    {
      schema: {
        tags: ['dial-in'],
        summary: 'The live room a dial-in PIN opens, on any bridge of the deployment',
        params: z.object({ pin: z.string().regex(/^[0-9]{1,16}$/, 'digits only') }),
        response: { 200: z.object({ room: roomNameSchema }), 404: problemSchema },
      },
    },
    async (request, reply) => {
      // A room of another bridge is answered by name: the caller's join is sent to that bridge by the directory.
      const room = await registry.roomNameByPin(request.params.pin);
      if (!room) return reply.code(404).send({ error: 'no live room has this PIN' });
      return { room };
    },
  );
};
