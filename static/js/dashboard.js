// Dashboard: the "Newest whale events" panel follows /ws/events/ (rendered only when the user may).
import { feedPanel } from "./feed.js";

const panel = document.getElementById("feed-panel");
if (panel && panel.dataset.feedEnabled === "true") {
  const { feed } = feedPanel(panel);
  feed.start();
  window.whaletrackFeed = feed;  // for debugging and browser tests
}
