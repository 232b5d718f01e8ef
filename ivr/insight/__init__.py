"""What callers did, in figures and pictures: statistics over the call history and the report that shows them."""
