// Inside a case, `msg` is that message only: another message's field is not known there (the
// generated interfaces keep an `unknown` index signature, as msgspec accepts unknown fields), so
// reading it as a string must not compile.
import type { ChatSend } from "./protocol";

export function room(msg: ChatSend): string {
  switch (msg.type) {
    case "said":
      return msg.room; // error: TS2322
    case "joined":
      return msg.room;
    default:
      return "";
  }
}
