"""A local Amazon States Language interpreter with Step Functions' API (start, stop, task tokens)
on a virtual clock: what simulate, the backtest and the tests run the compiled journeys on."""
