// A client of the test protocol (tests/test_asyncapi.py), typed by the types that
// json-schema-to-typescript generated from the AsyncAPI document (protocol.ts, chat_only.ts).
// Compiled with tsc --noEmit --strict: it must have no error.
import type { ChatSend as ChatOnlySend } from "./chat_only";
import type { ChatReceive, ChatSend, MetricsStreamSend, RawReceive, Said } from "./protocol";

// The tagged union is a discriminated union: each case narrows `msg` to one message.
export function describe(msg: ChatSend): string {
  switch (msg.type) {
    case "joined":
      return `${msg.host.name} opened ${msg.room}: ${msg.members.map((m) => m.name).join(", ")}`;
    case "said":
      return `${msg.by} at (${msg.where[0]}, ${msg.where[1]}): ${msg.text}`;
    case "gone":
      return `closed: ${msg.reason} (${msg.code})`;
    case "ping":
      return "ping";
    case "message":
      return `${msg.id}: ${msg.data.text}`;
    default: {
      const unreachable: never = msg;
      return unreachable;
    }
  }
}

export function join(room: string): ChatReceive {
  return { type: "join", room };
}

export function say(text: string, at?: [number, number]): ChatReceive {
  return at === undefined ? { type: "say", text } : { type: "say", text, at };
}

export const ping: ChatReceive = { type: "ping" };

export function lastValue(batch: MetricsStreamSend): number | undefined {
  const last = batch[batch.length - 1];
  return last === undefined ? undefined : last[1];
}

export const counts: RawReceive = { joins: 3, says: 12 };

export function onFrame(frame: string): string {
  const msg = JSON.parse(frame) as ChatSend;
  return describe(msg);
}

// The document of the chat endpoint alone describes the same messages.
export function fromChatOnly(msg: ChatOnlySend): ChatSend {
  return msg;
}

export function position(msg: Said): [number, number] {
  return msg.where;
}
