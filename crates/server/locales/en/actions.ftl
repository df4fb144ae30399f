# Action names, keyed by the methodology's action keys; an operator's own actions
# fall back to the title in their methodology file.
action-walking = Walking
action-offline_payment = Offline payment
action-utility_bill = Utility bill paid online
action-movie_ticket = Movie ticket bought online
action-train_ticket = Train ticket bought online
action-hospital_appointment = Hospital appointment booked online
action-metro_ride = Metro ride
action-bus_ride = Bus ride
action-e_invoice = Electronic invoice
action-bus = Bus
action-national_rail = National rail
action-metro_tram = Metro or tram
action-coach = Coach
action-cycling = Cycling
action-recycling_shoes = Shoes recycled
action-recycling_textiles = Textiles recycled
action-watering = Watered by a friend
