# Action names, keyed by the methodology's action keys; an operator's own actions
# fall back to the title in their methodology file.
action-walking = 步行
action-offline_payment = 线下支付
action-utility_bill = 网上缴纳生活缴费
action-movie_ticket = 网上购买电影票
action-train_ticket = 网上购买火车票
action-hospital_appointment = 网上预约挂号
action-metro_ride = 地铁出行
action-bus_ride = 公交出行
action-e_invoice = 电子发票
action-bus = 公交
action-national_rail = 铁路
action-metro_tram = 地铁或有轨电车
action-coach = 长途客车
action-cycling = 骑行
action-recycling_shoes = 旧鞋回收
action-recycling_textiles = 旧衣物回收
action-watering = 好友浇水
