"""Task suites: does the model do the job it is being fine-tuned for?"""
