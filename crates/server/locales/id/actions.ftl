# Action names, keyed by the methodology's action keys; an operator's own actions
# fall back to the title in their methodology file.
action-walking = Berjalan kaki
action-offline_payment = Pembayaran di toko
action-utility_bill = Tagihan utilitas dibayar online
action-movie_ticket = Tiket bioskop dibeli online
action-train_ticket = Tiket kereta dibeli online
action-hospital_appointment = Janji rumah sakit dibuat online
action-metro_ride = Naik MRT
action-bus_ride = Naik bus
action-e_invoice = Faktur elektronik
action-bus = Bus
action-national_rail = Kereta api
action-metro_tram = MRT atau trem
action-coach = Bus antarkota
action-cycling = Bersepeda
action-recycling_shoes = Sepatu didaur ulang
action-recycling_textiles = Tekstil didaur ulang
action-watering = Disiram teman
