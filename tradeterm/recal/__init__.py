"""Node-side follow-up of the calibration lab (issue 15 item 7): drift alerts on arms trading a
promoted config (`drift`, `watch`) and scheduled re-calibration in a niced child process
(`schedule`). Below the node in the layers: nothing here imports optuna or the calibration lab;
the schedule runs `tradeterm calibrate` as a separate process."""
