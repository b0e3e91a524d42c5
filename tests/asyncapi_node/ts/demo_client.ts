// The demo page's protocol (docs/asyncapi-demo.json) as a TypeScript client sees it, through the
// types json-schema-to-typescript generated (demo.ts). Compiled with tsc --noEmit --strict.
import type { WsReceive, WsSend } from "./demo";

let lastId: string | null = null;

// Every frame is an envelope (a room event with its id), a gap notice or an error; inside the
// envelope, the room event is a discriminated union again.
export function show(frame: WsSend): string {
  switch (frame.type) {
    case "message": {
      lastId = frame.id;
      const event = frame.data;
      switch (event.type) {
        case "joined":
          return `${event.name} joined (worker ${event.worker}): ${event.members.join(", ")}`;
        case "message":
          return `${event.name}: ${event.text}`;
        case "left":
          return `${event.name} left`;
        default: {
          const unreachable: never = event;
          return unreachable;
        }
      }
    }
    case "gap":
      return frame.missed === null ? "missed some messages" : `missed ${frame.missed} messages`;
    case "error":
      return `error: ${frame.detail}`;
    default: {
      const unreachable: never = frame;
      return unreachable;
    }
  }
}

export const join = (name: string): WsReceive => ({ type: "join", name });
export const say = (text: string): WsReceive => ({ type: "message", text });
export const leave: WsReceive = { type: "leave" };

export function resumeUrl(base: string): string {
  return lastId === null ? base : `${base}?last_id=${encodeURIComponent(lastId)}`;
}
