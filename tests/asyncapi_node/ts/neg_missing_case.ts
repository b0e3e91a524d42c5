// A switch that forgets a message ("ping"): the exhaustiveness check must fail.
import type { ChatSend } from "./protocol";

export function describe(msg: ChatSend): string {
  switch (msg.type) {
    case "joined":
      return msg.room;
    case "said":
      return msg.text;
    case "gone":
      return msg.reason;
    case "message":
      return msg.data.text;
    default: {
      const unreachable: never = msg; // error: TS2322
      return unreachable;
    }
  }
}
