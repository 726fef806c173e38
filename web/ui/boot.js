// The first thing the page runs, before the rest of the UI has arrived: a picture opened
// by its address (#/p/<id>) starts downloading now. On a slow link the picture is what
// takes longest; the viewer shows this very image once it runs (api.js earlyPicture).
import { startPicture } from './api.js';

const opened = /^#\/p\/(\d+)$/.exec(location.hash.split('?')[0]);
if (opened) startPicture(opened[1]);
