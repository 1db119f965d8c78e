// Entry point: window.AudioLabTimeline.mount(element, props, server, watch), called by the
// gr.HTML component's js_on_load. One Timeline per component; a new value redraws it.

import { Timeline } from "./controller.js";

function mount(element, props, server, watch) {
  let host = element.querySelector(".altl-host");
  if (!host) {
    host = document.createElement("div");
    host.className = "altl-host";
    element.append(host);
  }
  const timeline = new Timeline(host, server);
  element.audiolabTimeline = timeline;
  let shown;
  const update = () => {
    // the component re-renders its template when the value changes: put the widget back
    const current = element.querySelector(".altl-host");
    if (current && current !== timeline.host) {
      timeline.host = current;
      current.replaceChildren(timeline.root);
    } else if (!element.contains(timeline.root)) {
      timeline.host.replaceChildren(timeline.root);
      if (!element.contains(timeline.host)) element.append(timeline.host);
    }
    const value = props.value && typeof props.value === "object" ? props.value : null;
    if (value === shown) return;
    shown = value;
    timeline.setView(value ? structuredClone(value) : null).then(() => timeline.resize());
  };
  update();
  if (watch) watch("value", update);
  return timeline;
}

window.AudioLabTimeline = { mount };
window.dispatchEvent(new Event("audiolab-timeline-ready"));
