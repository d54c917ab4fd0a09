// Once the room's socket exists: stamp the call's state and the signaling as they arrive.
() => {
  const B = window.__bench, socket = window.pdRoom.socket;
  if (B.hooked) { return true; }
  B.hooked = true;
  socket.on("call", (s) => { B.mark("call_" + s.status); });
  socket.on("call_signal", (m) => {
    if (m.description) { B.mark("got_" + m.description.type); }
    else if (m.candidate) { B.mark("got_candidate"); }
  });
  const emit = socket.emit.bind(socket);
  socket.emit = function (name, data, ack) {
    if (name === "call_answer") { B.mark("answer_sent"); }
    if (name === "call_signal" && data && data.description) {
      B.mark("sent_" + data.description.type);
    }
    if (name === "call_answer" && typeof ack === "function") {
      return emit(name, data, function (...a) { B.mark("answer_ack"); return ack(...a); });
    }
    return emit.apply(null, arguments);
  };
  return true;
}
