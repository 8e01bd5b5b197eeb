"""DSPy: our engines behind `dspy.LM` (`lm`), compiled program files (`programs`), `writer optimize` (`optimize`)."""
